// SPDX-License-Identifier: GPL-2.0
/*
 * JarLoad: the start-up of the service in the-case, through the JVM. Like
 * jarload.c, many named loader threads inflate JAR entries at once, here
 * with java.util.zip.Inflater, whose zlib state lives in native memory that
 * glibc malloc takes from per-thread arenas. Each loader keeps one Inflater
 * in eight open, the classes that stay referenced.
 *
 *   java -cp build/java JarLoad [THREADS] [ENTRIES]
 */
import java.util.ArrayList;
import java.util.List;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

public class JarLoad {
	static final int ENTRY = 96 * 1024;

	public static void main(String[] args) throws Exception {
		int threads = args.length > 0 ? Integer.parseInt(args[0]) : 16;
		int entries = args.length > 1 ? Integer.parseInt(args[1]) : 32;
		byte[] plain = new byte[ENTRY];
		int x = 0x92d68ca2;

		for (int i = 0; i < plain.length; i++) {
			x ^= x << 13;
			x ^= x >>> 17;
			x ^= x << 5;
			plain[i] = (byte) "abcdefghijklmnop".charAt(x & 15);
		}
		Deflater d = new Deflater();
		d.setInput(plain);
		d.finish();
		byte[] buf = new byte[ENTRY * 2];
		int len = d.deflate(buf);
		d.end();
		final byte[] jar = java.util.Arrays.copyOf(buf, len);

		List<Thread> loaders = new ArrayList<>();
		final List<Inflater> kept = new ArrayList<>();
		for (int t = 0; t < threads; t++) {
			final int n = entries * (1 + t % 8);
			Thread th = new Thread(() -> {
				List<Inflater> mine = new ArrayList<>();
				byte[] out = new byte[ENTRY];

				for (int i = 0; i < n; i++) {
					Inflater inf = new Inflater();
					inf.setInput(jar);
					try {
						inf.inflate(out);
					} catch (DataFormatException e) {
						throw new RuntimeException(e);
					}
					if (i % 8 == 7)
						mine.add(inf);
					else
						inf.end();
				}
				synchronized (kept) {
					kept.addAll(mine);
				}
			}, "jar-loader-" + t);
			loaders.add(th);
			th.start();
		}
		for (Thread th : loaders)
			th.join();
		System.out.println("jarload: " + kept.size() + " inflaters kept open");
	}
}

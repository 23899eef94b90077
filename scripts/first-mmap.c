// SPDX-License-Identifier: GPL-2.0
/*
 * first-mmap: a program without a loader or libc, whose very first system
 * call after exec is an anonymous mmap of 64 KiB. It touches 3 of its 16
 * pages, writes the address to stderr ("0x...") and exits with status 7.
 * selftests/ctl_tools.py checks that "memwatchctl run" sees that region.
 * Build: cc -O1 -static -nostdlib -fno-stack-protector (x86-64 only).
 */

static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile ("syscall" : "=a"(ret)
			  : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
			    "r"(r9)
			  : "rcx", "r11", "memory");
	return ret;
}

void _start(void)
{
	/* mmap(NULL, 64K, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS) */
	char *p = (char *)sys6(9, 0, 16 * 4096, 3, 0x22, -1, 0);
	unsigned long v = (unsigned long)p;
	char buf[19];
	int i;

	p[0] = 1;
	p[4096] = 1;
	p[8192] = 1;
	buf[0] = '0';
	buf[1] = 'x';
	for (i = 0; i < 16; i++)
		buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 15];
	buf[18] = '\n';
	sys6(1, 2, (long)buf, sizeof(buf), 0, 0, 0);	/* write */
	sys6(231, 7, 0, 0, 0, 0, 0);			/* exit_group */
}

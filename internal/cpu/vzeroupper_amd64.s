//go:build amd64 && !purego

#include "textflag.h"

// func avxUsable() bool
//
// AVX instructions may be executed only if CPUID.1:ECX reports both OSXSAVE
// (bit 27) and AVX (bit 28), and XCR0 (read with XGETBV, ECX = 0) has the SSE
// (bit 1) and AVX (bit 2) state components enabled by the operating system.
TEXT ·avxUsable(SB), NOSPLIT, $0-1
	MOVL $1, AX
	XORL CX, CX
	CPUID
	ANDL $0x18000000, CX
	CMPL CX, $0x18000000
	JNE  unusable
	XORL CX, CX
	XGETBV
	ANDL $6, AX
	CMPL AX, $6
	JNE  unusable
	MOVB $1, ret+0(FP)
	RET

unusable:
	MOVB $0, ret+0(FP)
	RET

// func vzeroupper()
TEXT ·vzeroupper(SB), NOSPLIT|NOFRAME, $0-0
	VZEROUPPER
	RET

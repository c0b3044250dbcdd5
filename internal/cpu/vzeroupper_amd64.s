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

// func xinuse() (inuse uint32, ok bool)
//
// XGETBV with ECX = 1 returns XINUSE, the state components not in their
// initial configuration (bit 2: the upper halves of the YMM registers). It is
// available when CPUID.(EAX=0DH,ECX=1):EAX bit 2 is set; the caller has
// already checked that XGETBV itself exists (OSXSAVE).
TEXT ·xinuse(SB), NOSPLIT, $0-5
	MOVL $0x0d, AX
	MOVL $1, CX
	CPUID
	TESTL $4, AX
	JZ    unsupported
	MOVL  $1, CX
	XGETBV
	MOVL  AX, inuse+0(FP)
	MOVB  $1, ok+4(FP)
	RET

unsupported:
	MOVL $0, inuse+0(FP)
	MOVB $0, ok+4(FP)
	RET

// func dirtyUpper()
//
// Test helper: writes all-ones to Y15 with a VEX.256 AVX instruction and returns
// without VZEROUPPER, as circl's assembly does.
TEXT ·dirtyUpper(SB), NOSPLIT|NOFRAME, $0-0
	VCMPPS $0x0f, Y15, Y15, Y15
	RET

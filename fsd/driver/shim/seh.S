/*
 * The driver's structured exception handling, which Rust cannot express.
 *
 * lklfsd_copy_user(dst, src, len): copies len bytes with the structured
 * exception handling Rust cannot express: an access violation (or any
 * other exception) while copying ends the copy and returns its code;
 * otherwise it returns 0. The guarded range and its handler are a scope
 * table for __C_specific_handler (handler address 1: "execute the
 * handler"), as MSVC emits for __try/__except; the exception code comes
 * back in rax at the jump target (STATUS_ACCESS_VIOLATION where it does
 * not: Wine).
 *
 * Used on buffers a user-mode caller passed by address (neither I/O),
 * whose range the caller has checked lies in user space.
 */
	.text
	.globl	lklfsd_copy_user
	.def	lklfsd_copy_user; .scl 2; .type 32; .endef
	.seh_proc lklfsd_copy_user
lklfsd_copy_user:
	pushq	%rsi
	.seh_pushreg %rsi
	pushq	%rdi
	.seh_pushreg %rdi
	subq	$40, %rsp
	.seh_stackalloc 40
	.seh_endprologue
	movq	%rcx, %rdi
	movq	%rdx, %rsi
	movq	%r8, %rcx
.Lguarded_start:
	rep movsb
	nop
.Lguarded_end:
	xorl	%eax, %eax
.Lleave:
	addq	$40, %rsp
	popq	%rdi
	popq	%rsi
	ret
.Lexcept:
	/* Windows passes the exception code in rax; Wine's
	 * __C_specific_handler passes 0: an exception was all the same. */
	testl	%eax, %eax
	jnz	.Lleave
	movl	$0xC0000005, %eax
	jmp	.Lleave
	.seh_handler __C_specific_handler, @except
	.seh_handlerdata
	.long	1
	.rva	.Lguarded_start, .Lguarded_end
	.long	1
	.rva	.Lexcept
	.text
	.seh_endproc

/*
 * lklfsd_guarded_call(f, context): calls f(context) under structured
 * exception handling: an exception raised in it (the cache manager
 * raises one when a page cannot be read) ends the call and returns its
 * code (STATUS_UNSUCCESSFUL where Wine passes none); otherwise 0. No
 * frame f unwinds may hold anything to drop.
 */
	.text
	.globl	lklfsd_guarded_call
	.def	lklfsd_guarded_call; .scl 2; .type 32; .endef
	.seh_proc lklfsd_guarded_call
lklfsd_guarded_call:
	subq	$40, %rsp
	.seh_stackalloc 40
	.seh_endprologue
	movq	%rcx, %rax
	movq	%rdx, %rcx
.Lcall_start:
	callq	*%rax
	nop
.Lcall_end:
	xorl	%eax, %eax
.Lcall_leave:
	addq	$40, %rsp
	ret
.Lcall_except:
	testl	%eax, %eax
	jnz	.Lcall_leave
	movl	$0xC0000001, %eax
	jmp	.Lcall_leave
	.seh_handler __C_specific_handler, @except
	.seh_handlerdata
	.long	1
	.rva	.Lcall_start, .Lcall_end
	.long	1
	.rva	.Lcall_except
	.text
	.seh_endproc

# Sourced by scripts/sanitize_test.sh: runtime options of the sanitizers for the test suite.
# SystemC runs its threads as QuickThreads coroutines on stacks it allocates itself; ASan's
# fake stacks for detect_stack_use_after_return are per OS thread, not per coroutine, and a
# switch between coroutines without __sanitizer_start_switch_fiber (Debian's libsystemc is not
# built with it) corrupts them: with =1 a dynamic SC_THREAD dies with an ASan SEGV in its first
# frame, with =0 it runs clean (README, "Reliability"). Leak checking stays on.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_stack_use_after_return=0:halt_on_error=1:detect_leaks=1:check_initialization_order=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

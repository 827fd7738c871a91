# Tests of ranks started without the launcher (torchrun-style): lost peers, timeouts, foreign listeners.
# The multi-process cases run tests/check_ddp_faults.sh (see its header for what each checks).
set(DDP_FAULTS ${CMAKE_CURRENT_SOURCE_DIR}/check_ddp_faults.sh)
function(pb_ddp_fault_test name)
  add_test(NAME ${name} COMMAND bash ${DDP_FAULTS} ${ARGN})
  set_tests_properties(${name} PROPERTIES LABELS "smoke" TIMEOUT 30)
endfunction()

# A peer killed mid-run: the survivors exit 1 with one line naming it (they aborted with 134, or
# printed Gloo's raw message, which names no rank).
# World 2: the other rank; world 3: found by its process id, which every rank publishes at connect.
pb_ddp_fault_test(ddp_lost_peer_named lost-peer ${DDP} 2 1)
pb_ddp_fault_test(ddp_lost_peer_named_among_3 lost-peer ${DDP} 3 2)
pb_ddp_fault_test(ddp_lost_store_host_named_among_3 lost-peer ${DDP} 3 0)
# One deadline for the whole rendezvous (it was applied to the store, then again to the group).
pb_ddp_fault_test(ddp_lonely_rank_times_out_once lonely ${DDP})
# A listener on MASTER_PORT that is not a TCPStore: it used to hold the rank far past --timeout.
pb_ddp_fault_test(ddp_foreign_listener_times_out foreign-listener ${DDP})

# PB_GLOO_THREADS is parsed strictly, before the rendezvous (atoi turned "two" into 1 thread).
pb_smoke_test(ddp_gloo_threads_not_a_number
  COMMAND ${CMAKE_COMMAND} -E env RANK=0 WORLD_SIZE=1 MASTER_PORT=9 PB_GLOO_THREADS=two ${DDP} --steps 1 RC 2
  EXPECT "^ddp_check: error: PB_GLOO_THREADS must be an integer, got 'two'\n$")
pb_smoke_test(ddp_gloo_threads_zero
  COMMAND ${CMAKE_COMMAND} -E env RANK=0 WORLD_SIZE=1 MASTER_PORT=9 PB_GLOO_THREADS=0 ${DDP} --steps 1 RC 2
  EXPECT "^ddp_check: error: PB_GLOO_THREADS must be between 1 and 256, got 0\n$")
set_tests_properties(ddp_gloo_threads_not_a_number ddp_gloo_threads_zero PROPERTIES TIMEOUT 30)

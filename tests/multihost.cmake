# DDP across hosts simulated with network namespaces (tests/check_multihost.sh, one case each; see
# its header): training that matches one process, torchrun across nodes, lost hosts and links.
# Where namespaces cannot be made (not root, no ip), or for torchrun without the venv, a case
# prints "skipped: <reason>" and exits 77: reported as skipped.
foreach(case IN ITEMS train torchrun agent_store no_ifname kill_host kill_store_host link_down script_input)
  add_test(NAME multihost_${case}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/check_multihost.sh ${case} $<TARGET_FILE:ddp_check> ${PROJECT_SOURCE_DIR}
            ${Torch_VERSION})
  # cpu_heavy: 4 ranks on this machine's cores, and the fault cases time the survivors' exits.
  set_tests_properties(multihost_${case} PROPERTIES LABELS "smoke" TIMEOUT 60 SKIP_RETURN_CODE 77 RESOURCE_LOCK cpu_heavy)
endforeach()

# LOCAL_WORLD_SIZE, GROUP_RANK and torchrun's shared store, as read_dist_env reads them.
pb_add_unit_test(test_multihost_env test_multihost_env.cpp)
target_link_libraries(test_multihost_env PRIVATE pb_distributed)

# GLOO_SOCKET_IFNAME is checked before the rendezvous: a name with no address here, or an empty
# one in the list, is one line and exit 2 at once (Gloo's own error came after the rendezvous).
pb_smoke_test(multihost_gloo_ifname_unknown
  COMMAND ${CMAKE_COMMAND} -E env RANK=0 WORLD_SIZE=1 MASTER_PORT=9 GLOO_SOCKET_IFNAME=pb_no_such_if ${DDP} RC 2
  EXPECT "^ddp_check: error: GLOO_SOCKET_IFNAME: no interface 'pb_no_such_if' with an address here \\(there are: [^)]*lo[^)]*\\)\n$")
pb_smoke_test(multihost_gloo_ifname_empty_name
  COMMAND ${CMAKE_COMMAND} -E env RANK=0 WORLD_SIZE=1 MASTER_PORT=9 GLOO_SOCKET_IFNAME=lo, ${DDP} RC 2
  EXPECT "^ddp_check: error: GLOO_SOCKET_IFNAME has an empty interface name: 'lo,'\n$")
# Two local ranks bound to the interface named (it wins over loopback for a local job, as in
# c10d's Python side): here lo, so that no namespaces are needed.
pb_smoke_test(multihost_gloo_ifname_lo
  COMMAND ${CMAKE_COMMAND} -E env GLOO_SOCKET_IFNAME=lo ${DDP} --nproc 2 --model mlp --timeout 20
  EXPECT "\\[rank 0\\] rank 0/2 gloo: .* \\(match\\)" "\\[rank 1\\] rank 1/2 gloo: .* \\(match\\)")
set_tests_properties(multihost_gloo_ifname_unknown multihost_gloo_ifname_empty_name multihost_gloo_ifname_lo
  PROPERTIES TIMEOUT 30)

# The program outputs shown in docs/1_multi_cpu.md .. docs/4_ddp.md: one test per page
# (docs_output_<page>) runs every command marked `<!-- output: ... -->` there and compares what it
# prints with the block, every number masked, the text exact (docs/doc_outputs.py says how). Blocks
# marked (slow) or (gpu) are skipped with a note. Refresh the blocks with docs/regenerate_outputs.sh.
#
# The blocks show the CPU-only build (Debian's libtorch 1.13, the 2-core machine): a CUDA build
# prints other lines (its libtorch, why CUDA is unusable, MKL), so there the tests skip with that reason.
find_program(PB_DOCS_PYTHON NAMES python3 python)
if(NOT PB_DOCS_PYTHON)
  message(STATUS "docs_output_* tests not added: no python3 found")
  return()
endif()
set(pb_docs_skip "")
if(PB_HAVE_CUDA)
  set(pb_docs_skip --skip "the docs show the output of the CPU-only build (Debian's libtorch 1.13), and this build has CUDA")
endif()
foreach(page IN ITEMS 1_multi_cpu 2_gpu 3_data_parallel 4_ddp)
  add_test(NAME docs_output_${page}
    COMMAND ${PB_DOCS_PYTHON} ${PROJECT_SOURCE_DIR}/docs/doc_outputs.py check ${pb_docs_skip}
            --build ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR}/docs/${page}.md)
  set_tests_properties(docs_output_${page} PROPERTIES LABELS "smoke" SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()

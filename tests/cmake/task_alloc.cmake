# test_task_alloc makes the library's allocations fail on demand: malloc is
# wrapped at link time (the library is linked statically into the test).
if(TARGET test_task_alloc)
  target_link_options(test_task_alloc PRIVATE "LINKER:--wrap=malloc")
endif()

{
  "target_defaults": {
    "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno"],
    "cflags_cc!": ["-fno-exceptions"]
  },
  "targets": [
    {
      "target_name": "kernels_avx2",
      "type": "static_library",
      "sources": ["kernels.cc"],
      "defines": ["HFL_NS=avx2", "HFL_TABLE=kAvx2Table", "HFL_ISA_NAME=\"avx2+fma\"", "HFL_MR=6", "HFL_FC=1", "HFL_ZMM=0"],
      "cflags_cc": ["-mavx2", "-mfma", "-fPIC"]
    },
    {
      "target_name": "kernels_avx512",
      "type": "static_library",
      "sources": ["kernels.cc"],
      "defines": ["HFL_NS=avx512", "HFL_TABLE=kAvx512Table", "HFL_ISA_NAME=\"avx512\"", "HFL_MR=12", "HFL_FC=4", "HFL_ZMM=1"],
      "cflags_cc": ["-mavx2", "-mfma", "-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq", "-fPIC"]
    },
    {
      "target_name": "harmofl_kernels",
      "sources": ["addon.cc", "thread_pool.cc"],
      "dependencies": ["kernels_avx2", "kernels_avx512"],
      "libraries": ["-pthread"]
    }
  ]
}

{
  "targets": [
    {
      "target_name": "netlet_native",
      "sources": ["native/netlet.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"],
      "libraries": ["-lnftables"]
    }
  ]
}

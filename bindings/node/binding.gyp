# binding.gyp - node-gyp build of the addon (npm install): plain Node-API
# in C against the libsticky that pkg-config finds (sticky.pc, and
# sticky-redis-uv.pc when installed: then the Redis store on Node's loop),
# with an rpath to its libdir so no LD_LIBRARY_PATH is needed.
{
  'variables': {
    'sticky_redis_uv%': '<!(pkg-config --exists sticky-redis-uv && echo 1 || echo 0)',
  },
  'targets': [
    {
      'target_name': 'sticky',
      'sources': [
        'src/addon.c',
        'src/channels.c',
        'src/request.c',
        'src/router.c',
        'src/select_async.c',
        'src/util.c',
      ],
      'defines': ['NAPI_VERSION=8', '_POSIX_C_SOURCE=200809L'],
      'cflags': ['<!@(pkg-config --cflags sticky)', '-std=c11', '-fvisibility=hidden', '-Wall', '-Wextra'],
      'libraries': ['<!@(pkg-config --libs sticky)'],
      # -z nodelete: a worker's exit must not unload the addon and its
      # libuv.so.1, whose destructor would shut down Node's own libuv.
      'ldflags': ['-Wl,-rpath,<!(pkg-config --variable=libdir sticky)', '-Wl,-z,nodelete'],
      'conditions': [
        ['sticky_redis_uv==1', {
          'defines': ['STICKY_NODE_REDIS_UV'],
          'cflags': ['<!@(pkg-config --cflags sticky-redis-uv)'],
          'libraries': ['<!@(pkg-config --libs sticky-redis-uv)'],
          'ldflags': ['-Wl,-rpath,<!(pkg-config --variable=libdir sticky-redis-uv)'],
        }],
      ],
    },
  ],
}

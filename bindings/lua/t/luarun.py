"""bindings/lua/t/luarun.py - owns running a Lua chunk in nginx's LuaJIT
(there is no standalone luajit beside libnginx-mod-http-lua): a one-shot
nginx (master_process off, daemon off) whose init_by_lua_block runs the
chunk, which writes its output to a file and os.exit()s. Since 0.5.0."""
import os
import subprocess

from harness import LUA_LIB, MODULES, NGINX

CONF = """
error_log {prefix}/error.log info;
pid {prefix}/nginx.pid;
load_module {modules}/ndk_http_module.so;
load_module {modules}/ngx_http_lua_module.so;
{env}
events {{}}
http {{
    lua_package_path "{lua_lib}/?.lua;/usr/share/lua/5.1/?.lua;;";
    init_by_lua_file {prefix}/chunk.lua;
}}
"""

WRAP = """
local out = assert(io.open(%r, "w"))
local function emit(...)
    out:write(table.concat({...}, " "), "\\n")
end
local ok, err = pcall(function()
%s
end)
if not ok then emit("LUA-ERROR", tostring(err)) end
out:close()
os.exit(0)
"""


def run_lua(prefix, body, env_names=(), env=None):
    """Run @body (Lua; it may call emit(...)) in nginx's LuaJIT. @env_names:
    variables nginx passes to Lua (`env NAME;`). Returns the emitted lines."""
    os.makedirs(prefix, exist_ok=True)
    out = os.path.join(prefix, "out.txt")
    with open(os.path.join(prefix, "chunk.lua"), "w") as f:
        f.write(WRAP % (out, body))
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(CONF.format(prefix=prefix, modules=MODULES, lua_lib=LUA_LIB,
                            env="".join("env %s;\n" % n for n in env_names)))
    p = subprocess.run([NGINX, "-p", prefix, "-c", conf, "-g", "daemon off; master_process off;"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60,
                       env=env)
    try:
        with open(out) as f:
            return f.read().splitlines()
    except OSError:
        raise AssertionError("nginx ran no Lua (rc %d): %s" % (p.returncode, p.stdout))

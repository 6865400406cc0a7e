-- resty/sticky/loader.lua - owns finding and loading libsticky with
-- LuaJIT's ffi.load and the load-time check that the loaded library is the
-- release the cdef (resty.sticky.cdef) was written for: same major.minor
-- version, and sticky_struct_size(id) == ffi.sizeof of every declared
-- struct. A mismatch is a clear error naming the library, never memory
-- corruption later. Since 0.5.0.
local ffi = require "ffi"
local cdef = require "resty.sticky.cdef"

local floor = math.floor
local tonumber = tonumber
local format = string.format

local _M = {}

-- The candidates, in order: an explicit path, $STICKY_LIBRARY, then what
-- the dynamic loader finds ("sticky" = libsticky.so, the development
-- symlink; "libsticky.so.0", the runtime name).
local function candidates(path)
    if path and path ~= "" then
        return { path }
    end
    local env = os.getenv("STICKY_LIBRARY")
    if env and env ~= "" then
        return { env }
    end
    return { "sticky", "libsticky.so.0" }
end

--- check(lib, where): refuse a library of another version or layout.
-- @lib: the ffi.load() namespace (or any table with the same functions,
--   for tests). @where: the library's path or name, for messages.
-- Returns: the library's version string. Raises: a string error naming
--   @where and the mismatch (version, or the struct and both sizes).
-- Phase: any (pure calls). Since 0.5.0.
function _M.check(lib, where)
    local version = ffi.string(lib.sticky_version_string())
    local number = tonumber(lib.sticky_version_number())
    local major, minor = floor(number / 65536), floor(number / 256) % 256
    if major ~= cdef.ABI_MAJOR or minor ~= cdef.ABI_MINOR then
        error(format("resty.sticky: %s is libsticky %s (version %d.%d); this module's "
                     .. "cdef is for %d.%d.x: install the matching lua module or library",
                     where, version, major, minor, cdef.ABI_MAJOR, cdef.ABI_MINOR), 0)
    end
    local names = {}
    for name in pairs(cdef.STRUCT_IDS) do
        names[#names + 1] = name
    end
    table.sort(names)
    for _, name in ipairs(names) do
        local theirs = tonumber(lib.sticky_struct_size(cdef.STRUCT_IDS[name]))
        local ours = ffi.sizeof(name)
        if theirs ~= ours then
            error(format("resty.sticky: %s (libsticky %s) has sizeof(%s) = %d, this "
                         .. "module's cdef declares %d: layout mismatch, refusing to load",
                         where, version, name, theirs, ours), 0)
        end
    end
    return version
end

--- load(path): load libsticky and check it.
-- @path: explicit library path, or nil for $STICKY_LIBRARY, else
--   ffi.load("sticky"), else "libsticky.so.0". (nginx clears the
--   environment: add `env STICKY_LIBRARY;` to nginx.conf to pass it.)
-- Returns: lib (the ffi namespace), where (the name that loaded), version.
-- Raises: a string error listing every candidate's failure, or check()'s.
-- Phase: init_by_lua* or init_worker_by_lua* (dlopen reads files once).
-- Since 0.5.0.
function _M.load(path)
    local errs = {}
    for _, name in ipairs(candidates(path)) do
        local ok, lib = pcall(ffi.load, name)
        if ok then
            local version = _M.check(lib, name)
            return lib, name, version
        end
        errs[#errs + 1] = name .. ": " .. tostring(lib)
    end
    error("resty.sticky: cannot load libsticky (give `library = PATH`, or set "
          .. "STICKY_LIBRARY with `env STICKY_LIBRARY;` in nginx.conf): "
          .. table.concat(errs, "; "), 0)
end

return _M

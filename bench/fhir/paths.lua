-- wrk script for bench/fhir.sh: GET requests whose paths cycle through a file, one path a line
-- (the FHIR base path included, e.g. /fhir/DEMO/Observation/123). Each wrk thread starts at its
-- own offset, so the threads do not request the same resource in lockstep.
--   wrk ... -s paths.lua https://127.0.0.1:PORT -- PATHS_FILE
-- Headers: Accept: application/fhir+json, and Cookie: $WRK_COOKIE when that variable is set
-- (from the environment, so the session cookie is not on the command line).
local threads = {}

function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

local paths = {}
local i = 0

function init(args)
  local file = args[1]
  if file == nil then error("paths.lua: pass the paths file after --") end
  for line in io.lines(file) do
    if line ~= "" then paths[#paths + 1] = line end
  end
  if #paths == 0 then error("paths.lua: no paths in " .. file) end
  wrk.headers["Accept"] = "application/fhir+json"
  local cookie = os.getenv("WRK_COOKIE")
  if cookie ~= nil and cookie ~= "" then wrk.headers["Cookie"] = cookie end
  i = (offset or 0) * math.floor(#paths / 2 + 1)
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end

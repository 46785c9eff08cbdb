-- A creation-and-sign-in mix: one request in two creates a pass for a user who has none (each
-- thread walks its own range of the directory's fresh users), the other signs a user in as
-- signin.lua does.
local users = {}
local next_user = 1
local fresh = 0
local turn = 0
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("first_fresh", counter * 1000000)
end

function init(args)
  for line in io.lines(args[1]) do
    local user, code = line:match("(%S+) (%S+)")
    users[#users + 1] = { user = user, code = code }
  end
  next_user = math.random(#users)
  fresh = first_fresh
end

function request()
  turn = turn + 1
  if turn % 2 == 0 then
    fresh = fresh + 1
    return wrk.format("POST",
      string.format("/v1.0/users/u%d@bench.test/authentication/temporaryAccessPassMethods", fresh),
      { ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer helpdesk-demo-token" }, "{}")
  end
  local u = users[next_user]
  next_user = next_user % #users + 1
  local body = string.format('{"userId":"%s","temporaryAccessPass":"%s"}', u.user, u.code)
  return wrk.format("POST", "/signIn/temporaryAccessPass",
    { ["Content-Type"] = "application/json" }, body)
end

-- Sign-in alone: each request signs a user in with the right code of their multi-use pass,
-- round robin over the users the set-up created passes for (codes.txt: "user code" lines).
local users = {}
local next_user = 1

function init(args)
  for line in io.lines(args[1]) do
    local user, code = line:match("(%S+) (%S+)")
    users[#users + 1] = { user = user, code = code }
  end
  next_user = math.random(#users)
end

function request()
  local u = users[next_user]
  next_user = next_user % #users + 1
  local body = string.format('{"userId":"%s","temporaryAccessPass":"%s"}', u.user, u.code)
  return wrk.format("POST", "/signIn/temporaryAccessPass",
    { ["Content-Type"] = "application/json" }, body)
end

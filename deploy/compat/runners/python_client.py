# Drives Segment's or RudderStack's Python library: python python_client.py CONFIG.json.
# The configuration holds the README's snippet (placeholders filled in), the name of
# the module it sets up and the calls. Both libraries have the same API. Prints one
# JSON line; exits 1 when the library reports an error.
import json
import sys

cfg = json.load(open(sys.argv[1], encoding="utf-8"))
ns = {}
exec(cfg["snippet"], ns)
client = ns[cfg["var"]]
errors = []
client.on_error = lambda err, batch: errors.append(repr(err))
client.debug = False
for c in cfg["calls"]:
    t = c["type"]
    common = dict(context=c.get("context") or {}, integrations=c.get("integrations") or {})
    if t == "page":
        client.page(c["userId"], category=c["category"], name=c["name"], properties=c["properties"], **common)
    elif t == "screen":
        client.screen(c["userId"], category=c["category"], name=c["name"], properties=c["properties"], **common)
    elif t == "track":
        client.track(c["userId"], c["event"], c["properties"], **common)
    elif t == "identify":
        client.identify(c["userId"], c["traits"], **common)
    elif t == "group":
        client.group(c["userId"], c["groupId"], c["traits"], **common)
    elif t == "alias":
        client.alias(c["previousId"], c["userId"], **common)
    else:
        raise SystemExit("no such call: " + t)
client.flush()
client.shutdown()
print(json.dumps({"client": cfg["client"], "ok": not errors, "error": "; ".join(errors)}))
sys.exit(1 if errors else 0)

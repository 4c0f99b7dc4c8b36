import assert from "node:assert/strict";
import { test } from "node:test";
import { parseServiceKey, serviceKey } from "./service-key.ts";

test("serviceKey joins namespace and name", () => {
  assert.equal(serviceKey("shop", "web"), "shop/web");
});

test("parseServiceKey", async (t) => {
  const cases: { key: string; want: ReturnType<typeof parseServiceKey> }[] = [
    { key: "shop/web", want: { namespace: "shop", name: "web" } },
    { key: "", want: undefined },
    { key: "web", want: undefined },
    { key: "/web", want: undefined },
    { key: "shop/", want: undefined },
    { key: "a/b/c", want: undefined },
  ];
  for (const { key, want } of cases) {
    await t.test(JSON.stringify(key), () => assert.deepEqual(parseServiceKey(key), want));
  }
});

test("parseServiceKey inverts serviceKey", () => {
  assert.deepEqual(parseServiceKey(serviceKey("kube-system", "dns")), {
    namespace: "kube-system",
    name: "dns",
  });
});

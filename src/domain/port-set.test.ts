import assert from "node:assert/strict";
import { test } from "node:test";
import type { EndpointPort } from "./endpoints.ts";
import { portSetKey } from "./port-set.ts";

const http: EndpointPort = { name: "http", port: 8080, protocol: "TCP" };
const dns: EndpointPort = { name: "dns", port: 53, protocol: "UDP" };

test("portSetKey", async (t) => {
  const cases: { name: string; a: EndpointPort[]; b: EndpointPort[]; equal: boolean }[] = [
    { name: "order does not matter", a: [http, dns], b: [dns, http], equal: true },
    { name: "empty sets are equal", a: [], b: [], equal: true },
    { name: "number matters", a: [http], b: [{ ...http, port: 8081 }], equal: false },
    { name: "protocol matters", a: [http], b: [{ ...http, protocol: "SCTP" }], equal: false },
    { name: "appProtocol matters", a: [http], b: [{ ...http, appProtocol: "http" }], equal: false },
    { name: "subset differs", a: [http], b: [http, dns], equal: false },
  ];
  for (const { name, a, b, equal } of cases) {
    await t.test(name, () => assert.equal(portSetKey(a) === portSetKey(b), equal));
  }
});

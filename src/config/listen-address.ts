import { parseIpAddress } from "../domain/ip-address.ts";
import { quote } from "./quote.ts";

/** Where an HTTP server listens, or that it is off. `host` `""` means every interface. */
export type ListenAddress = { enabled: false } | { enabled: true; host: string; port: number };

/** A parsed listen address, or why the text is not one. */
export type ListenAddressResult =
  | { ok: true; address: ListenAddress }
  | { ok: false; message: string };

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i;

/** The value that turns the server off; nothing else does (an empty value is an error). */
export const LISTEN_OFF = "off";

/**
 * Parses `host:port` (`127.0.0.1:9090`, `[::1]:9090`, `localhost:9090`, `:9090` for every
 * interface; port 0–65535, 0 picks a free port). Only `"off"` turns the server off: an empty
 * value is refused, so that a template that rendered nothing cannot silently remove /healthz.
 * Messages quote the text, cut when long.
 */
export function parseListenAddress(text: string): ListenAddressResult {
  if (text === LISTEN_OFF) return { ok: true, address: { enabled: false } };
  if (text.trim() === "") {
    return {
      ok: false,
      message: `empty; write host:port, e.g. "127.0.0.1:9090", or "${LISTEN_OFF}" to turn the server off`,
    };
  }
  const quoted = quote(text);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    return {
      ok: false,
      message: `${quoted} is a URL; write HOST:PORT without a scheme or path, e.g. "127.0.0.1:9090"`,
    };
  }
  const colon = text.lastIndexOf(":");
  if (colon === -1) {
    return {
      ok: false,
      message: `${quoted} has no port; write host:port, e.g. "127.0.0.1:9090", or "off"`,
    };
  }
  let host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (host.startsWith("[") && host.endsWith("]")) {
    host = host.slice(1, -1);
    if (parseIpAddress(host)?.family !== "IPv6") {
      return { ok: false, message: `${quoted}: ${quote(host)} in brackets is not an IPv6 address` };
    }
  } else if (host.includes(":")) {
    return { ok: false, message: `${quoted}: put an IPv6 host in brackets, e.g. "[::1]:9090"` };
  } else if (
    host !== "" &&
    parseIpAddress(host) === undefined &&
    // All digits and dots is a mistyped IPv4 address, not a host name.
    (!HOSTNAME.test(host) || /^[0-9.]+$/.test(host))
  ) {
    return { ok: false, message: `${quoted}: ${quote(host)} is not an IP address or host name` };
  }
  const port = /^(0|[1-9][0-9]{0,4})$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port <= 65_535)) {
    return {
      ok: false,
      message: `${quoted}: port ${quote(portText)} is not a number from 0 to 65535`,
    };
  }
  return { ok: true, address: { enabled: true, host, port } };
}

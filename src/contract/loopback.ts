/**
 * Loopback hosts: the only ones drover sends credentials to over plain http (a simulator on this
 * machine). Used by the config's endpoint checks and by clouds that build their own endpoint URLs.
 */

/** 127.0.0.0/8, ::1 or localhost: a server on this machine. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * How every tabstore browser test and benchmark starts Chromium: Debian's build (never a downloaded one), headless,
 * on a machine that reaches nothing but loopback, as root.
 */

/** Debian's Chromium; override with TABSTORE_CHROMIUM. */
export const CHROMIUM = process.env.TABSTORE_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS: readonly string[] = [
  '--headless=new',
  '--no-sandbox', // CI runs as root
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

// Runs before `npm test`: the browser tests drive Debian's Chromium (never a downloaded one). If it is missing and
// this is a Debian machine where we are root, install it; otherwise say exactly what to do.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

const path = process.env.TABSTORE_CHROMIUM ?? '/usr/bin/chromium';
const executable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

if (!executable(path)) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (process.env.TABSTORE_CHROMIUM === undefined && root && executable('/usr/bin/apt-get')) {
    console.log('Chromium is missing: installing Debian\'s chromium package (apt-get install chromium)...');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-q', 'chromium'], { stdio: 'inherit', env });
  } else {
    console.error(
      `The browser tests need Chromium at ${path}, and it is not there.\n` +
        '  Debian/Ubuntu: sudo apt-get install chromium\n' +
        '  Elsewhere: point TABSTORE_CHROMIUM at a Chromium or Chrome executable.',
    );
    process.exit(1);
  }
}

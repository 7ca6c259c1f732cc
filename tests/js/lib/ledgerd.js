// Starts and stops a real ledgerd process for end-to-end tests, on free
// loopback ports and a fresh data directory.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

// A loopback port that was free a moment ago.
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Ledgerd {
  // `binary`: path to ledgerd; `extraArgs`: more flags.
  constructor(binary, extraArgs = [], dataDir = null) {
    this.binary = binary;
    this.extraArgs = extraArgs;
    this.dataDir = dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'ledgerd-js-'));
    this.log = '';
  }

  async start() {
    this.httpPort = await freePort();
    this.wsPort = await freePort();
    this.url = `http://127.0.0.1:${this.httpPort}`;
    this.streamUrl = `ws://127.0.0.1:${this.wsPort}/api/v1/streams/valid_transactions`;
    this.process = spawn(this.binary, [
      '--dev', '--data-dir', this.dataDir,
      '--http-addr', `127.0.0.1:${this.httpPort}`, '--ws-addr', `127.0.0.1:${this.wsPort}`,
      ...this.extraArgs,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process.stdout.on('data', (d) => { this.log += d; });
    this.process.stderr.on('data', (d) => { this.log += d; });
    this.exited = new Promise((resolve) => this.process.on('exit', (code, signal) => resolve({ code, signal })));
    for (let i = 0; i < 200; i++) {
      try {
        const res = await fetch(`${this.url}/health`);
        if (res.ok) return;
      } catch (e) { /* not up yet */ }
      if (this.process.exitCode !== null) break;
      await sleep(50);
    }
    throw new Error(`ledgerd did not start:\n${this.log}`);
  }

  // SIGTERM, and wait for a clean exit.
  async stop() {
    if (!this.process || this.process.exitCode !== null) return;
    this.process.kill('SIGTERM');
    await this.exited;
  }

  removeData() {
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

module.exports = { Ledgerd, freePort, sleep };

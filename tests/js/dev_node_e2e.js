// End to end against the real ledgerd binary in --dev mode, with the
// official BigchainDB JavaScript driver and a WebSocket subscriber.
//
//   node --test dev_node_e2e.js   (LEDGERD=<path to ledgerd>)
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const driver = require('bigchaindb-driver');
const { sha3_256 } = require('js-sha3');
const { Ledgerd, sleep } = require('./lib/ledgerd');

const { Transaction, Ed25519Keypair, Connection } = driver;
const LEDGERD = process.env.LEDGERD;
const ed = (key) => Transaction.makeEd25519Condition(key);
const output = (key, amount = '1') => Transaction.makeOutput(ed(key), amount);

function create(owner, data, metadata = null, amount = '1') {
  return Transaction.signTransaction(
    Transaction.makeCreateTransaction(data, metadata, [output(owner.publicKey, amount)], owner.publicKey),
    owner.privateKey);
}

function transfer(tx, index, owner, to, amount = '1', metadata = null) {
  return Transaction.signTransaction(
    Transaction.makeTransferTransaction([{ tx, output_index: index }], [output(to.publicKey, amount)], metadata),
    owner.privateKey);
}

// Recomputes the id as the driver does, so only the intended defect remains.
function rehash(tx) {
  const copy = JSON.parse(JSON.stringify(tx));
  copy.id = null;
  copy.id = sha3_256(Transaction.serializeTransactionIntoCanonicalString(copy));
  return copy;
}

async function post(node, body, mode = 'commit', headers = {}) {
  const res = await fetch(`${node.url}/api/v1/transactions?mode=${mode}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: (() => { try { return JSON.parse(text); } catch (e) { return null; } })() };
}

// Collects stream messages until stopped.
function subscribe(url) {
  const messages = [];
  const ws = new WebSocket(url);
  ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
  const opened = new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  return { ws, messages, opened };
}

// Polls `predicate` (which may be async) until it holds; a timeout is a failure.
async function until(predicate, what, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('ledgerd --dev serves the BigchainDB driver, the stream and every endpoint', async (t) => {
  const node = new Ledgerd(LEDGERD, ['--block-interval', '50ms']);
  await node.start();
  t.after(async () => { await node.stop(); node.removeData(); });

  const conn = new Connection(`${node.url}/api/v1/`);
  const alice = new Ed25519Keypair();
  const bob = new Ed25519Keypair();
  const carol = new Ed25519Keypair();
  const sub = subscribe(node.streamUrl);
  await sub.opened;

  const root = await (await fetch(`${node.url}/api/v1/`)).json();
  assert.equal(root.streams, node.streamUrl);

  // All three modes.
  const bike = create(alice, { kind: 'bicycle', colour: 'red frame' }, { shop: 'north' }, '10');
  const car = create(alice, { kind: 'car', colour: 'blue' }, { shop: 'south' });
  const boat = create(bob, { kind: 'boat' }, null);
  assert.equal((await conn.postTransactionCommit(bike)).id, bike.id);
  assert.equal((await conn.postTransactionSync(car)).id, car.id);
  assert.equal((await conn.postTransactionAsync(boat)).id, boat.id);

  // A chain of transfers.
  const toBob = Transaction.signTransaction(
    Transaction.makeTransferTransaction([{ tx: bike, output_index: 0 }],
      [output(bob.publicKey, '6'), output(alice.publicKey, '4')], { note: 'split' }),
    alice.privateKey);
  await conn.postTransactionCommit(toBob);
  const toCarol = transfer(toBob, 0, bob, carol, '6');
  await conn.postTransactionCommit(toCarol);

  const committed = [bike, car, boat, toBob, toCarol].map((tx) => tx.id);
  await until(() => committed.every((id) => sub.messages.some((m) => m.transaction_id === id)),
    'every transaction on the stream');

  // Every message once, with the right shape and asset ids.
  const ids = sub.messages.map((m) => m.transaction_id);
  assert.equal(new Set(ids).size, ids.length, 'no duplicates on the stream');
  for (const m of sub.messages) {
    assert.deepEqual(Object.keys(m), ['transaction_id', 'asset_id', 'height']);
  }
  const byId = Object.fromEntries(sub.messages.map((m) => [m.transaction_id, m]));
  assert.equal(byId[toCarol.id].asset_id, bike.id);
  assert.equal(byId[car.id].asset_id, car.id);
  assert.ok(byId[toCarol.id].height > byId[bike.id].height);

  // GET endpoints, as the driver reads them.
  assert.deepEqual(await conn.getTransaction(toBob.id), toBob);
  const history = await conn.listTransactions(bike.id);
  assert.deepEqual(history.map((tx) => tx.id), [bike.id, toBob.id, toCarol.id]);
  assert.deepEqual((await conn.listTransactions(bike.id, 'TRANSFER')).map((tx) => tx.id), [toBob.id, toCarol.id]);
  const carolOutputs = await conn.listOutputs(carol.publicKey);
  assert.deepEqual(carolOutputs, [{ transaction_id: toCarol.id, output_index: 0 }]);
  const bobSpent = await conn.listOutputs(bob.publicKey, true);
  assert.deepEqual(bobSpent, [{ transaction_id: toBob.id, output_index: 0 }]);
  const bobUnspent = await conn.listOutputs(bob.publicKey, false);
  assert.deepEqual(bobUnspent.map((o) => o.transaction_id), [boat.id]);
  const heights = await conn.listBlocks(toCarol.id);
  assert.deepEqual(heights, [byId[toCarol.id].height]);
  const block = await conn.getBlock(heights[0]);
  assert.ok(block.transactions.some((tx) => tx.id === toCarol.id));
  const assets = await conn.searchAssets('red');
  assert.deepEqual(assets.map((a) => a.id), [bike.id]);
  assert.deepEqual(assets[0].data, bike.asset.data);
  const metadata = await conn.searchMetadata('south');
  assert.deepEqual(metadata.map((m) => m.id), [car.id]);
  const validators = await (await fetch(`${node.url}/api/v1/validators`)).json();
  assert.ok(Array.isArray(validators));

  // Each validation error comes back as 400 with its name.
  const expectRefusal = async (tx, name) => {
    const res = await post(node, tx);
    assert.equal(res.status, 400, `${name}: ${res.text}`);
    assert.match(res.json.message, new RegExp(`\\(${name}\\)|^Invalid transaction schema`), res.text);
    assert.equal(res.json.status, 400);
  };
  const tamperedHash = JSON.parse(JSON.stringify(car));
  tamperedHash.metadata.shop = 'west';
  await expectRefusal(tamperedHash, 'InvalidHash');
  const badVersion = JSON.parse(JSON.stringify(car));
  badVersion.version = '1.0';
  const schema = await post(node, rehash(badVersion));
  assert.equal(schema.status, 400);
  assert.match(schema.json.message, /^Invalid transaction schema: /);
  const resigned = JSON.parse(JSON.stringify(car));
  resigned.metadata.shop = 'east';
  await expectRefusal(rehash(resigned), 'InvalidSignature');
  await expectRefusal(car, 'DuplicateTransaction');
  await expectRefusal(transfer(toBob, 0, bob, alice, '6'), 'DoubleSpend');
  const ghost = create(alice, { kind: 'ghost' });
  await expectRefusal(transfer(ghost, 0, alice, bob), 'InputDoesNotExist');
  await expectRefusal(transfer(toCarol, 0, carol, bob, '5'), 'AmountError');
  const mixed = Transaction.signTransaction(
    Transaction.makeTransferTransaction([{ tx: toBob, output_index: 1 }, { tx: car, output_index: 0 }],
      [output(bob.publicKey, '5')], null),
    alice.privateKey, alice.privateKey);
  await expectRefusal(mixed, 'AssetIdMismatch');
  const malformed = await post(node, '{"id":');
  assert.equal(malformed.status, 400);
  assert.match(malformed.json.message, /\(MalformedTransaction\)/);

  // HTTP errors.
  const big = await post(node, JSON.stringify({ pad: 'x'.repeat(2 << 20) }));
  assert.equal(big.status, 413);
  assert.equal((await post(node, car, 'eventually')).status, 400);
  const missing = await fetch(`${node.url}/api/v1/nothing`);
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).status, 404);
  const unknownTx = await fetch(`${node.url}/api/v1/transactions/${'0'.repeat(64)}`);
  assert.equal(unknownTx.status, 404);
  const wrongMethod = await fetch(`${node.url}/api/v1/transactions`, { method: 'DELETE' });
  assert.equal(wrongMethod.status, 405);
  assert.equal((await fetch(`${node.url}/api/v1/`, { headers: { Origin: 'http://example.com' } }))
    .headers.get('access-control-allow-origin'), '*');

  sub.ws.close();

  // A restart keeps the data and the height.
  const lastHeight = Math.max(...sub.messages.map((m) => m.height));
  await node.stop();
  await node.start();
  assert.deepEqual(await (new Connection(`${node.url}/api/v1/`)).getTransaction(toCarol.id), toCarol);
  const after = create(carol, { kind: 'after restart' });
  const resumed = subscribe(`${node.streamUrl}?from_height=${lastHeight}`);
  await resumed.opened;
  await (new Connection(`${node.url}/api/v1/`)).postTransactionCommit(after);
  await until(() => resumed.messages.some((m) => m.transaction_id === after.id), 'the post-restart transaction');
  const afterMessage = resumed.messages.find((m) => m.transaction_id === after.id);
  assert.equal(afterMessage.height, lastHeight + 1);
  assert.ok(resumed.messages.some((m) => m.transaction_id === toCarol.id), 'replay from the last height');
  resumed.ws.close();
});

test('a full mempool answers 503', async (t) => {
  const node = new Ledgerd(LEDGERD, ['--mempool-size', '1', '--block-interval', '10m']);
  await node.start();
  t.after(async () => { await node.stop(); node.removeData(); });
  const alice = new Ed25519Keypair();
  // The first block goes out at once; after it the producer waits out the
  // interval, so the next transaction stays in the one-place mempool.
  const first = create(alice, { n: 0 });
  assert.equal((await post(node, first, 'async')).status, 202);
  await until(async () => (await fetch(`${node.url}/api/v1/transactions/${first.id}`)).status === 200,
    'the first block');
  assert.equal((await post(node, create(alice, { n: 1 }), 'async')).status, 202);
  const full = await post(node, create(alice, { n: 2 }), 'async');
  assert.equal(full.status, 503, full.text);
  assert.equal(full.json.status, 503);
});

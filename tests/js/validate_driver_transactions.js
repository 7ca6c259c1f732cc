// Builds transactions with the official BigchainDB JavaScript driver and
// checks that `ledgerctl validate` accepts each one and rejects tampered
// copies with the right error name.
//
//   node validate_driver_transactions.js <path to ledgerctl>
'use strict';
const { spawnSync } = require('child_process');
const driver = require('bigchaindb-driver');
const { sha3_256 } = require('js-sha3');

const ledgerctl = process.argv[2];
const { Transaction, Ed25519Keypair } = driver;

function validate(tx) {
  const text = typeof tx === 'string' ? tx : JSON.stringify(tx);
  const run = spawnSync(ledgerctl, ['validate', '-'], { input: text, encoding: 'utf8' });
  return { code: run.status, out: run.stdout.trim() };
}

const alice = new Ed25519Keypair();
const bob = new Ed25519Keypair();
const carol = new Ed25519Keypair();
const ed = (key) => Transaction.makeEd25519Condition(key);

const create = Transaction.signTransaction(
  Transaction.makeCreateTransaction(
    { name: 'bicycle', serial: 'abc-123', specs: { gears: 21, weight: 9.75, tags: ['ü', '"q"'] } },
    { bought: '2026-11-28', price: 1.0e3 },
    [Transaction.makeOutput(ed(alice.publicKey), '100')],
    alice.publicKey),
  alice.privateKey);

const split = Transaction.signTransaction(
  Transaction.makeTransferTransaction(
    [{ tx: create, output_index: 0 }],
    [Transaction.makeOutput(ed(bob.publicKey), '60'),
     Transaction.makeOutput(ed(carol.publicKey), '40')],
    { note: 'split' }),
  alice.privateKey);

const shared = Transaction.signTransaction(
  Transaction.makeTransferTransaction(
    [{ tx: split, output_index: 0 }],
    [Transaction.makeOutput(
      Transaction.makeThresholdCondition(2, [
        Transaction.makeEd25519Condition(bob.publicKey, false),
        Transaction.makeEd25519Condition(carol.publicKey, false)]), '60')],
    null),
  bob.privateKey);

const nullData = Transaction.signTransaction(
  Transaction.makeCreateTransaction(null, null,
    [Transaction.makeOutput(ed(bob.publicKey))], bob.publicKey),
  bob.privateKey);

const valid = { create, split, shared, nullData };
let passed = 0;
let failed = 0;
function expect(name, result, code, prefix) {
  if (result.code === code && result.out.startsWith(prefix)) {
    passed++;
  } else {
    failed++;
    console.log(`FAIL ${name}: expected exit ${code} and "${prefix}...", got exit ${result.code}: ${result.out}`);
  }
}

for (const [name, tx] of Object.entries(valid)) {
  expect(name, validate(tx), 0, `valid ${tx.id}`);
  expect(`${name} (pretty-printed)`, validate(JSON.stringify(tx, null, 2)), 0, `valid ${tx.id}`);
}

const clone = (tx) => JSON.parse(JSON.stringify(tx));
// Recomputes the id the way the driver does, so that only the signatures
// betray the tampering.
const rehash = (tx) => {
  const copy = clone(tx);
  copy.id = null;
  copy.id = sha3_256(Transaction.serializeTransactionIntoCanonicalString(copy));
  return copy;
};

const tamperedMetadata = clone(create);
tamperedMetadata.metadata.price = 1;
expect('metadata changed, id kept', validate(tamperedMetadata), 1, 'InvalidHash');

const tamperedAmount = clone(split);
tamperedAmount.outputs[0].amount = '61';
expect('amount changed, id kept', validate(tamperedAmount), 1, 'InvalidHash');

const resigned = clone(create);
resigned.metadata.price = 2;
expect('metadata changed, id recomputed', validate(rehash(resigned)), 1, 'InvalidSignature');

const stolen = clone(split);
stolen.outputs[1].public_keys = [alice.publicKey];
stolen.outputs[1].condition = Transaction.makeOutput(ed(alice.publicKey), '40').condition;
expect('output redirected, id recomputed', validate(rehash(stolen)), 1, 'InvalidSignature');

const badVersion = clone(create);
badVersion.version = '1.0';
expect('version 1.0', validate(rehash(badVersion)), 1, 'SchemaValidationError');

const zero = clone(create);
zero.outputs[0].amount = '0';
expect('zero amount', validate(rehash(zero)), 1, 'AmountError');

expect('truncated', validate(JSON.stringify(create).slice(0, 100)), 1, 'MalformedTransaction');

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

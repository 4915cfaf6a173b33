'use strict';
// A small BudgetGrains client over @grpc/grpc-js, with the budget.v1 protos loaded at run time by
// @grpc/proto-loader from ../../protos (no generated code).
//
//   const client = new BudgetClient('127.0.0.1:5080');
//   const hold = await client.reserve({ tenant: 'acme' }, 2_000_000n);
//   if (!hold.admitted) { ...hold.reason, hold.deniedScope... }
//   try { const cost = await callModel(); await hold.commit(cost); } finally { await hold.dispose(); }
//
// Money is nanos (1 USD = 1_000_000_000) as BigInt: int64 does not fit a JS number. A deny is a result, not an
// error; errors reject with the grpc-js error (`code`, `details`). Calls are retried on UNAVAILABLE and
// DEADLINE_EXCEEDED with the same request id, which the server deduplicates, so a lost answer never charges twice.
const path = require('node:path');
const crypto = require('node:crypto');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTOS = path.resolve(__dirname, '..', '..', 'protos');
const NANOS_PER_DOLLAR = 1_000_000_000n;
// What the server reports as remaining when no scope of the chain has a limit.
const UNLIMITED = 9223372036854775807n;
const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);

const definition = protoLoader.loadSync(
  ['budget/v1/types.proto', 'budget/v1/admission.proto', 'budget/v1/management.proto'],
  { keepCase: true, longs: String, enums: String, defaults: true, includeDirs: [PROTOS] },
);
const budgetV1 = grpc.loadPackageDefinition(definition).budget.v1;

/** Formats nanos as dollars, exactly: 42000000n -> "$0.042". */
function dollars(nanos) {
  const value = BigInt(nanos);
  const sign = value < 0n ? '-' : '';
  const abs = value < 0n ? -value : value;
  const frac = (abs % NANOS_PER_DOLLAR).toString().padStart(9, '0').replace(/0+$/, '').padEnd(2, '0');
  return `${sign}$${abs / NANOS_PER_DOLLAR}.${frac}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The answer to a reserve. Commit or release it; dispose() releases it if neither happened. */
class Hold {
  constructor(client, requestId, response) {
    this.client = client;
    this.requestId = requestId;
    this.admitted = response.decision === 'ADMITTED';
    this.reservationId = this.admitted ? response.reservation_id : null;
    this.reason = this.admitted ? null : response.reason;
    this.deniedScope = this.admitted ? null : response.denied_scope;
    const remaining = BigInt(response.remaining_nanos);
    this.remainingNanos = remaining === UNLIMITED ? null : remaining;
    this.heldNanos = BigInt(response.held_nanos);
    this.expiresAt = this.admitted ? new Date(Number(response.expires_at_unix_ms)) : null;
    this.crossedThresholds = response.crossed_thresholds;
    this.settled = !this.admitted;
  }

  async commit(actualNanos, outcome = '') {
    if (!this.admitted) throw new Error(`reserve ${this.requestId} was denied (${this.reason}); nothing to commit`);
    // Settled before sending: if the commit fails the call still happened, so dispose() must not release.
    this.settled = true;
    return this.client.commit(this.reservationId, actualNanos, outcome);
  }

  async release() {
    if (!this.admitted) return false;
    this.settled = true;
    return this.client.release(this.reservationId);
  }

  /** Best effort, never throws: the server releases the hold when it expires anyway. */
  async dispose() {
    if (this.settled) return;
    try {
      await this.release();
    } catch (error) {
      console.error(`warning: could not release ${this.reservationId}: ${error.details ?? error.message}`);
    }
  }
}

class BudgetClient {
  constructor(address, { timeoutMs = 5000, maxAttempts = 4, backoffMs = 50, apiKey = process.env.BUDGETGRAINS_API_KEY } = {}) {
    const credentials = grpc.credentials.createInsecure();
    // A silo that requires keys wants "authorization: Bearer <key>" on every call.
    this.metadata = new grpc.Metadata();
    if (apiKey) this.metadata.set('authorization', `Bearer ${apiKey}`);
    this.admission = new budgetV1.Admission(address, credentials);
    this.management = new budgetV1.Management(address, credentials);
    Object.assign(this, { timeoutMs, maxAttempts, backoffMs });
  }

  close() {
    this.admission.close();
    this.management.close();
  }

  /** One logical call within timeoutMs: retried with the very same request (same ids) after a jittered backoff. */
  async call(stub, method, request) {
    const deadline = Date.now() + this.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await new Promise((resolve, reject) => {
          stub[method](request, this.metadata, { deadline: new Date(deadline) }, (error, response) => (error ? reject(error) : resolve(response)));
        });
      } catch (error) {
        const delay = Math.random() * this.backoffMs * 2 ** (attempt - 1);
        if (!RETRYABLE.has(error.code) || attempt >= this.maxAttempts || Date.now() + delay >= deadline) throw error;
        await sleep(delay);
      }
    }
  }

  async reserve(attribution, estimateNanos, { requestId = crypto.randomUUID(), holdTtlMs = 0 } = {}) {
    const response = await this.call(this.admission, 'Reserve', {
      request_id: requestId,
      attribution,
      estimate_nanos: String(estimateNanos),
      hold_ttl_ms: String(holdTtlMs),
    });
    return new Hold(this, requestId, response);
  }

  async commit(reservationId, actualNanos, outcome = '') {
    const response = await this.call(this.admission, 'Commit', { reservation_id: reservationId, actual_nanos: String(actualNanos), outcome });
    return { chargedNanos: BigInt(response.charged_nanos), late: response.late, overage: response.overage };
  }

  async release(reservationId) {
    const response = await this.call(this.admission, 'Release', { reservation_id: reservationId });
    return response.released;
  }

  async check(attribution, estimateNanos) {
    const response = await this.call(this.admission, 'Check', { attribution, estimate_nanos: String(estimateNanos) });
    const remaining = BigInt(response.remaining_nanos);
    return {
      admitted: response.decision === 'ADMITTED',
      reason: response.decision === 'ADMITTED' ? null : response.reason,
      deniedScope: response.denied_scope || null,
      remainingNanos: remaining === UNLIMITED ? null : remaining,
    };
  }

  /** Admin call, for demos: an operator would use `budgetctl budgets set`. */
  async upsertBudget(scope, limitNanos, parent = '') {
    await this.call(this.management, 'UpsertBudget', { scope, limit_nanos: String(limitNanos), parent });
  }
}

module.exports = { BudgetClient, Hold, dollars };

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WeftError } from '../errors.js';
import { apiError, describeCliFailure } from './verb-failure.js';

test('failures read as kubectl writes them', () => {
  const local = new WeftError('CONFIG_INVALID', 'a.yaml:3:5: spec.hosts: required', { status: 400 });
  assert.equal(describeCliFailure(local), 'error: a.yaml:3:5: spec.hosts: required');
  assert.equal(describeCliFailure(new Error('boom')), 'error: boom');
});

test("the API's refusals read as kubectl's Error from server, with the server's code kept", () => {
  const notFound = apiError(404, { error: { code: 'NOT_FOUND', message: 'virtualservices "x" not found' } });
  assert.equal(notFound.code, 'NOT_FOUND');
  assert.equal(describeCliFailure(notFound), 'Error from server (NotFound): virtualservices "x" not found');
  // An internal failure, or an answer that is no error document, names no code the CLI could act on.
  assert.equal(describeCliFailure(apiError(500, { error: { code: 'INTERNAL', message: 'boom' } })), 'Error from server (InternalError): boom');
  assert.equal(describeCliFailure(apiError(502, null)), 'Error from server (InternalError): the control plane answered 502');
});

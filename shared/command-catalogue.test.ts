import { describe, expect, it } from 'vitest';
import { sampleResults } from '../test/helpers/command-samples.js';
import { testRuntimeSpec } from '../test/helpers/images.js';
import {
  checkCommandPayload,
  checkCommandResult,
  checkEventAttributes,
  commandCatalogue,
  commandKind,
  commandKinds,
  eventCatalogue,
  eventKind,
  isCommandKind,
} from './command-catalogue.js';

const spec = testRuntimeSpec('busybox:1.36', { env: { GREETING: 'hello' } });
const { health } = spec;
const apply = { spec, preferredListenPort: null, drainSeconds: 2, stopGraceSeconds: 10 };

describe('the command catalogue', () => {
  it('names every kind once, by the same spelling in the constants and the catalogue', () => {
    expect(Object.values(commandKind).sort()).toEqual(Object.keys(commandCatalogue).sort());
    expect(Object.values(eventKind).sort()).toEqual(Object.keys(eventCatalogue).sort());
    expect(commandKinds).toHaveLength(Object.keys(commandKind).length);
    expect(isCommandKind('deploy')).toBe(false);
    expect(isCommandKind(commandKind.runtimeInspect)).toBe(true);
  });

  it('accepts a complete deployment.apply payload and ignores fields a newer control plane may add', () => {
    expect(checkCommandPayload(commandKind.deploymentApply, apply).ok).toBe(true);
    expect(checkCommandPayload(commandKind.deploymentApply, { ...apply, rolloutStrategy: 'blue-green' }).ok).toBe(true);
  });

  it('refuses a payload that breaks its schema, naming the field', () => {
    const broken = checkCommandPayload(commandKind.deploymentApply, { ...apply, spec: { ...spec, image: 42 } });
    expect(broken).toEqual({ ok: false, problem: expect.stringContaining('spec.image') });
    const missing = checkCommandPayload(commandKind.deploymentCancel, {});
    expect(missing).toEqual({ ok: false, problem: expect.stringContaining('deploymentId') });
    const badEnum = checkCommandPayload(commandKind.runtimeControl, { ...apply.spec, health, operation: 'pause' });
    expect(badEnum.ok).toBe(false);
  });

  it('takes an absent payload as empty for kinds without one', () => {
    expect(checkCommandPayload(commandKind.hostFacts, undefined).ok).toBe(true);
    expect(checkCommandPayload(commandKind.deploymentCancel, undefined).ok).toBe(false);
  });

  it('accepts the sample result of every kind and refuses one of the wrong shape', () => {
    for (const kind of commandKinds) expect(checkCommandResult(kind, sampleResults[kind]).ok, kind).toBe(true);
    expect(checkCommandResult(commandKind.dockerInfo, { reachable: 'yes' }).ok).toBe(false);
  });

  it('checks event attributes, with the optional ones optional', () => {
    const log = { deploymentId: 'dep-1', message: 'listening on 8080' };
    expect(checkEventAttributes(eventKind.deploymentLog, log).ok).toBe(true);
    expect(checkEventAttributes(eventKind.deploymentLog, { message: 'no deployment' }).ok).toBe(false);
    expect(checkEventAttributes(eventKind.spoolDropped, { count: '3' }).ok).toBe(true);
  });
});

// `dynaprune train` flag parsing: every bad value gives a typed error that says what was expected.
import { describe, expect, it } from 'vitest';
import { trainConfigFromFlags } from '../../src/cli/commands/train.js';
import { InvalidArgumentError, UnknownNameError } from '../../src/errors.js';

const good = {
  model: 'paper-cnn',
  dataset: 'cifar10',
  epochs: '10',
  batchSize: '32',
  learningRate: '0.001',
  backend: 'auto',
  seed: '1',
  method: 'dense',
  distribution: 'uniform',
  lrSchedule: 'constant',
  optimizer: 'adam',
};

describe('dynaprune train flags', () => {
  it('parses a valid command line', () => {
    const config = trainConfigFromFlags({
      ...good,
      trainLimit: '500',
      dataDir: '/data',
      out: '/tmp/run',
    });
    expect(config).toMatchObject({
      epochs: 10,
      batchSize: 32,
      learningRate: 0.001,
      trainLimit: 500,
      dataDir: '/data',
      out: '/tmp/run',
    });
  });

  it('parses the BatchNorm flags and rejects bad values, naming the flag', () => {
    expect(
      trainConfigFromFlags({ ...good, bnMomentum: '0.9', bnRecalibration: '5000' }),
    ).toMatchObject({
      batchNormMomentum: 0.9,
      batchNormRecalibration: 5000,
    });
    expect(() => trainConfigFromFlags({ ...good, bnMomentum: '1.5' })).toThrow('--bn-momentum');
    expect(() => trainConfigFromFlags({ ...good, bnRecalibration: '-3' })).toThrow(
      '--bn-recalibration',
    );
  });

  it('lists the valid models, datasets and backends for unknown names', () => {
    expect(() => trainConfigFromFlags({ ...good, model: 'resnet50' })).toThrow(UnknownNameError);
    expect(() => trainConfigFromFlags({ ...good, model: 'resnet50' })).toThrow(
      /paper-cnn, paper-cnn-wide, mlp, wrn-/,
    );
    expect(() => trainConfigFromFlags({ ...good, dataset: 'svhn' })).toThrow(
      /cifar10, fashion-mnist, mnist/,
    );
    expect(() => trainConfigFromFlags({ ...good, backend: 'gpu' })).toThrow(
      /auto, node, wasm, cpu/,
    );
  });

  it('accepts WRN names of any depth and width, and rejects malformed ones', () => {
    expect(trainConfigFromFlags({ ...good, model: 'wrn-16-2' }).model).toBe('wrn-16-2');
    expect(() => trainConfigFromFlags({ ...good, model: 'wrn-16' })).toThrow(UnknownNameError);
  });

  it('rejects bad numbers, naming the flag', () => {
    for (const [flag, key, value] of [
      ['--epochs', 'epochs', '0'],
      ['--epochs', 'epochs', 'ten'],
      ['--batch-size', 'batchSize', '3.5'],
      ['--learning-rate', 'learningRate', '-1'],
      ['--train-limit', 'trainLimit', '1e3'],
      ['--seed', 'seed', '-4'],
    ] as const) {
      expect(() => trainConfigFromFlags({ ...good, [key]: value }), `${flag} ${value}`).toThrow(
        InvalidArgumentError,
      );
      expect(() => trainConfigFromFlags({ ...good, [key]: value })).toThrow(flag);
    }
  });

  it('holds out --validation N training images; --test-each-epoch only with it', () => {
    expect(trainConfigFromFlags(good).validation).toBeUndefined();
    expect(
      trainConfigFromFlags({ ...good, validation: '5000', testEachEpoch: true }),
    ).toMatchObject({ validation: 5000, testEachEpoch: true });
    expect(() => trainConfigFromFlags({ ...good, validation: '0' })).toThrow('--validation');
    expect(() => trainConfigFromFlags({ ...good, testEachEpoch: true })).toThrow(
      /--test-each-epoch needs --validation N/,
    );
  });
});

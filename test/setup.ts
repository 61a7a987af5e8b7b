// Test-wide settings: silence tfjs's "install tfjs-node" banner, which is noise in test output.
import { env } from '@tensorflow/tfjs';

env().set('IS_TEST', true);

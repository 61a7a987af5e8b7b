// Stands in for the tfjs packages the fine-tuning bundle never uses (the webgl backend, the converter, tfjs-data):
// scripts/build-playground.ts aliases them to this file, which keeps the names @tensorflow/tfjs reads of them.
export const version_webgl = 'not bundled';
export const version_converter = 'not bundled';
export const version_data = 'not bundled';

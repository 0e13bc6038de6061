// @hey-api/openapi-ts's settings for scripts/gen-sdks, which sets TASKGATE_SDK_OUT (the
// generated folder, or a scratch one for the drift check). The tsconfig's NodeNext resolution
// makes the generated imports end in `.js`, as Node's ES modules need.
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

export default {
  input: here('../../openapi.json'),
  output: {
    path: process.env.TASKGATE_SDK_OUT ?? here('src/generated'),
    tsConfigPath: here('tsconfig.json'),
  },
  plugins: ['@hey-api/typescript', '@hey-api/sdk', '@hey-api/client-fetch'],
};

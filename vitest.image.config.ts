import { defineConfig } from "vitest/config";

/** The container tests of `npm run test:image` (tools/image/test-image.ts builds the image first). */
export default defineConfig({
  test: {
    include: ["test/image/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    reporters: ["default"],
  },
});

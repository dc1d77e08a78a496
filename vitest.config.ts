import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The container tests need the image built first: `npm run test:image` (vitest.image.config.ts).
    exclude: [...configDefaults.exclude, "test/image/**"],
    // One moto server (Secrets Manager + DynamoDB) for the whole run; see test/setup/moto.ts.
    globalSetup: ["test/setup/moto.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    reporters: ["default"],
  },
});

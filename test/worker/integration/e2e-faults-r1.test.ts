import { defineFaultSuite } from "./fault-scenarios.ts";

defineFaultSuite(1);

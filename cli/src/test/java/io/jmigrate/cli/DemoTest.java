package io.jmigrate.cli;

import io.jmigrate.cli.CliHarness.Run;
import org.junit.jupiter.api.Test;

import static io.jmigrate.cli.CliHarness.jmigrate;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The README's first command, small: checkpoint and restore, then a pre-copy migration through a page server. */
class DemoTest {
    @Test
    void theDemoRunsEveryStepAndTheWorkloadsVerifyTheirMemory() {
        Run demo = jmigrate("demo", "--mib", "32");
        assertEquals(0, demo.exit(), demo.out() + demo.err());
        String out = demo.out();
        for (String step : new String[]{"1. starting the workload", "3. jmigrate restore", "4. the workload carries on",
                "5. live migration with pre-copy", "jmigrate pre-dump, round 1: ", "jmigrate pre-dump, round 2: ",
                "jmigrate dump (final): frozen", "the workload says: verified", "done."}) {
            assertTrue(out.contains(step), "missing '" + step + "' in:\n" + out);
        }
    }
}

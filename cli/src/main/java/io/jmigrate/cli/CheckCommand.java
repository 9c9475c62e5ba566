package io.jmigrate.cli;

import io.jmigrate.engine.check.KernelFeatures;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

@Command(name = "check", mixinStandardHelpOptions = true,
        description = {
                "Report which kernel features this machine offers, each probed for real.",
                "",
                "ptrace, clone3 set_tid, userfaultfd and its write-protect modes, PAGEMAP_SCAN, soft-dirty, ...,",
                "and which dirty-page tracking backend pre-copy would use.",
                "Exit status 1 if something dump/restore cannot do without is missing.",
                ""})
final class CheckCommand implements Callable<Integer> {
    @Option(names = "--json", description = "print the result as JSON")
    boolean json;

    @Override
    public Integer call() {
        KernelFeatures features = KernelFeatures.probe();
        if (json) {
            System.out.println(new com.google.gson.GsonBuilder().setPrettyPrinting().create().toJson(features.toMap()));
        } else {
            System.out.print(features.report());
        }
        boolean essential = features.available(KernelFeatures.PTRACE) && features.available(KernelFeatures.CLONE3_SET_TID)
                && features.available(KernelFeatures.PROCESS_VM_READV) && features.available(KernelFeatures.PR_SET_MM_MAP);
        return essential ? 0 : 1;
    }
}

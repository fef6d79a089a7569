package io.kmsgw.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code kmsgw} command line. */
@Command(name = "kmsgw", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
    description = "HSM-backed key management gateway speaking the AWS KMS API.",
    subcommands = {ServeCommand.class, KeystoreCommand.class, AuditCommand.class, io.kmsgw.bench.BenchCommand.class,
        CommandLine.HelpCommand.class})
public final class Main {
  public static void main(String[] args) {
    int code = new CommandLine(new Main()).execute(args);
    if (code != 0 || args.length == 0 || !"serve".equals(args[0])) {
      System.exit(code);
    }
  }
}

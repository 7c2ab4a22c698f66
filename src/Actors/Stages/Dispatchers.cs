namespace Pipeline.Actors.Stages;

/// <summary>Dispatcher names and their HOCON: a pinned thread per GPU worker, a pool for CPU-heavy stages.</summary>
public static class Dispatchers
{
    public const string Gpu = "pipeline.gpu-dispatcher";
    public const string Cpu = "pipeline.cpu-dispatcher";

    public const string Hocon = """
        pipeline.gpu-dispatcher {
          type = PinnedDispatcher
          executor = thread-pool-executor
        }
        pipeline.cpu-dispatcher {
          type = Dispatcher
          executor = fork-join-executor
          fork-join-executor {
            parallelism-min = 2
            parallelism-factor = 1.0
            parallelism-max = 16
          }
          throughput = 10
        }
        # The host decides when to stop (graceful shutdown drains requests first); SIGTERM must not kill the actors.
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        akka.stdout-loglevel = WARNING
        akka.loglevel = WARNING
        """;
}

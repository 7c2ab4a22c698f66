using Pipeline.Host.Cli;
using Pipeline.Host.Commands;
using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using Pipeline.Models.Registry;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Host;

/// <summary>The `pipeline` executable: dispatches verbs and turns failures into one clear line and an exit code.</summary>
public static class CliApp
{
    static readonly (CommandSpec Spec, Func<ParsedArgs, Task<int>> Run)[] Commands =
    [
        (ServeCommand.Spec, ServeCommand.RunAsync),
        (GenerateCommand.Spec, a => Task.FromResult(GenerateCommand.Run(a))),
        (TranscribeCommand.Spec, TranscribeCommand.RunAsync),
        (EmbedCommand.Spec, a => Task.FromResult(EmbedCommand.Run(a))),
        (TokenizeCommand.Spec, a => Task.FromResult(TokenizeCommand.Run(a))),
        (TokenizeCommand.DetokenizeSpec, a => Task.FromResult(TokenizeCommand.RunDetokenize(a))),
        (DownloadCommand.Spec, a => Task.FromResult(DownloadCommand.Run(a))),
        (EnvCommand.Spec, a => Task.FromResult(EnvCommand.Run(a))),
        (ModelsCommand.Spec, a => Task.FromResult(ModelsCommand.Run(a))),
        (BenchAudioCommand.Spec, a => Task.FromResult(BenchAudioCommand.Run(a))),
        (BenchTokenizerCommand.Spec, a => Task.FromResult(BenchTokenizerCommand.Run(a))),
        (BenchPreprocessCommand.Spec, a => Task.FromResult(BenchPreprocessCommand.Run(a))),
        (BenchStructuredCommand.Spec, a => Task.FromResult(BenchStructuredCommand.Run(a))),
        (BenchSchedulerCommand.Spec, a => Task.FromResult(BenchSchedulerCommand.Run(a))),
        (BenchServeCommand.Spec, BenchServeCommand.RunAsync),
        (BenchQueueCommand.Spec, BenchQueueCommand.RunAsync),
        (BenchPipelineCommand.Spec, BenchPipelineCommand.RunAsync),
        (BenchThroughputCommand.Spec, a => Task.FromResult(BenchThroughputCommand.Run(a))),
        (BenchLatencyCommand.Spec, a => Task.FromResult(BenchLatencyCommand.Run(a))),
        (QueueCommand.PublishSpec, QueueCommand.PublishAsync),
        (QueueCommand.FollowSpec, QueueCommand.FollowAsync),
        (ClusterCommand.StatusSpec, ClusterCommand.StatusAsync),
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage());
            return args.Length == 0 ? 2 : 0;
        }
        // Two-word commands: `queue publish`, `queue follow`.
        int words = args.Length > 1 && Commands.Any(c => c.Spec.Name == $"{args[0]} {args[1]}") ? 2 : 1;
        var name = string.Join(' ', args.Take(words));
        var cmd = Commands.FirstOrDefault(c => c.Spec.Name == name);
        if (cmd.Spec == null)
        {
            Console.Error.WriteLine($"error: unknown command '{name}'\n\n{Usage()}");
            return 2;
        }
        var rest = args.Skip(words).ToArray();
        if (rest.Contains("--help") || rest.Contains("-h"))
        {
            Console.WriteLine(HelpPrinter.Format(cmd.Spec));
            return 0;
        }
        try
        {
            var parsed = ParsedArgs.Parse(cmd.Spec, rest);
            CommonOptions.LoadPlugins(cmd.Spec, parsed);
            HubCliOptions.Prepare(cmd.Spec, parsed);
            return await cmd.Run(parsed);
        }
        catch (CliException e) { return Fail(e.Message, 2); }
        catch (Exception e) when (e is Http.AddressInUseError or ModelNotFoundException or ModelConfigException or WeightLoadException or UnsupportedArchitectureException or ModelPluginException
                                      or SamplingParamsException or ArgumentException or InvalidOperationException or NotSupportedException
                                      or DirectoryNotFoundException or FileNotFoundException or HttpRequestException or TokenizerLoadException or Pipeline.Models.Loading.Hub.HubException or Pipeline.Models.Pooling.PoolingException or Pipeline.Models.ChatTemplates.TemplateException)
        {
            return Fail(ErrorHints.Explain(e), 1);
        }
    }

    static int Fail(string message, int code)
    {
        Console.Error.WriteLine($"error: {message}");
        return code;
    }

    static string Usage() =>
        "usage: pipeline <command> [options]\n\ncommands:\n" +
        string.Join("\n", Commands.Select(c => $"  {c.Spec.Name,-16} {c.Spec.Summary}")) +
        "\n\nRun 'pipeline <command> --help' for a command's options.";
}

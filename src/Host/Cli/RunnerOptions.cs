using Pipeline.Models.Pooling;
using Pipeline.Models.Registry;

namespace Pipeline.Host.Cli;

/// <summary>vLLM's --runner and --convert: whether a model generates or pools, and how a causal LM becomes a pooling model.</summary>
public static class RunnerOptions
{
    public static readonly OptionSpec[] Options =
    [
        new("runner", "auto, generate or pooling (auto: pooling for pooling architectures and sentence-transformers models)", "auto"),
        new("convert", "auto, none, embed, classify or reward: run a causal LM (e.g. LlamaForCausalLM) as a pooling model; auto is embed under --runner pooling", "auto"),
    ];

    /// <param name="task">--task, when the command has it: must be one the selection serves.</param>
    /// <param name="poolingCommand">The command only pools (`pipeline embed`): --runner auto means pooling.</param>
    public static RunnerSelection Resolve(ParsedArgs a, string modelDir, string architecture, string? task = null, bool poolingCommand = false)
    {
        var runner = a.Choice("runner", RunnerSelection.RunnerChoices);
        if (poolingCommand && runner == "generate") throw new CliException("--runner generate: this command needs a pooling model (--runner pooling or auto)");
        if (poolingCommand) runner = "pooling";
        var convert = a.Choice("convert", RunnerSelection.ConvertChoices);
        var selection = RunnerSelection.Resolve(architecture, runner, convert, SentenceTransformersConfig.Load(modelDir)?.PoolingType != null);
        if (task is not (null or "auto") && !selection.Tasks.Contains(task))
        {
            var hint = selection.Runner == RunnerType.Generate && selection.Generative?.Convertible == true && task != "generate"
                ? $" (to run it as a pooling model: --runner pooling --convert {(task == "score" ? "classify" : task)})" : "";
            throw new CliException($"--task {task}: {architecture} supports {string.Join(", ", selection.Tasks)}{hint}");
        }
        return selection;
    }
}

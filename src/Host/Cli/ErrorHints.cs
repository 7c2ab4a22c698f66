using Pipeline.Host.Commands;
using Pipeline.Models.Loading;

namespace Pipeline.Host.Cli;

/// <summary>
/// What to do next, added to the error lines a new user meets first: the built-in model's name when a model is not
/// found, and where a CUDA libtorch comes from when CUDA is asked for but missing.
/// </summary>
public static class ErrorHints
{
    public const string Cuda =
        "For CUDA, point --libtorch DIR (or PIPELINE_LIBTORCH) at the lib folder of a CUDA PyTorch (python3 -c 'import torch, os; print(os.path.dirname(torch.__file__) + \"/lib\")'), " +
        "or build with scripts/gpu/build.sh and run scripts/gpu/pipeline.sh on the GPU machine (README: Running on a CUDA machine); --device cpu runs here.";

    public static string Explain(Exception e) => e switch
    {
        ModelNotFoundException m => WithHint(m.Message, DefaultModel.NotFoundHint),
        InvalidOperationException i when i.Message.StartsWith("CUDA was requested", StringComparison.Ordinal) => $"{i.Message} {Cuda}",
        _ => e.Message,
    };

    /// <summary>The hint goes on the first line, before the list of places looked in.</summary>
    static string WithHint(string message, string hint)
    {
        int looked = message.IndexOf(" Looked in:", StringComparison.Ordinal);
        return looked < 0 ? $"{message} {hint}" : $"{message[..looked]} {hint}{message[looked..]}";
    }
}

namespace Pipeline.Models.Tokenizers;

/// <summary>A tokenizer file is missing, malformed, or uses a feature this library does not support.</summary>
public sealed class TokenizerLoadException : Exception
{
    public TokenizerLoadException(string file, string problem, Exception? inner = null)
        : base($"{file}: {problem}", inner)
    {
        File = file;
        Problem = problem;
    }

    public string File { get; }
    public string Problem { get; }
}

namespace Pipeline.Host.Protocol;

/// <summary>The answer of /tokenize.</summary>
public sealed record TokenizeResponse(int Count, int MaxModelLen, int[] Tokens);

/// <summary>The answer of /detokenize.</summary>
public sealed record DetokenizeResponse(string Prompt);

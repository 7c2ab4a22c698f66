using Pipeline.Host.Http;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Host.Protocol;

/// <summary>A pooling request's `input` as token lists, each checked against the model's length.</summary>
public static class PoolingInputs
{
    public static List<int[]> Tokenize(TextsOrTokens input, HfTokenizer? tokenizer, int maxModelLen)
    {
        HfTokenizer Tok() => tokenizer ?? throw ApiError.BadRequest("this model has no tokenizer: send token ids", "input");
        var ids = input.Texts?.Select(t => Tok().Encode(t)).ToList() ?? input.TokenLists!.ToList();
        foreach (var i in ids)
        {
            if (i.Length == 0) throw ApiError.BadRequest("input must not contain empty texts or token lists", "input");
            if (i.Length > maxModelLen) throw ApiError.BadRequest($"input has {i.Length} tokens, more than the model's maximum of {maxModelLen}", "input");
        }
        return ids;
    }
}

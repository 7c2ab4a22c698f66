using Pipeline.Models.Tokenizers;

namespace Pipeline.Host.Http;

/// <summary>How a token id is shown in logprobs: its text, or "token_id:N" with return_tokens_as_token_ids.</summary>
public sealed class TokenText(HfTokenizer? tokenizer, bool asIds)
{
    public string Of(int id) => asIds || tokenizer == null ? $"token_id:{id}" : tokenizer.Decode([id]);
}

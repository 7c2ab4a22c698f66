namespace Pipeline.Models.ChatTemplates;

internal abstract record Node
{
    public int Line { get; init; }
    public int Column { get; init; }
}

// ---- expressions ----
internal abstract record Expr : Node;
internal sealed record ConstExpr(object? Value) : Expr;
internal sealed record NameExpr(string Name) : Expr;
internal sealed record ListExpr(List<Expr> Items) : Expr;
internal sealed record TupleExpr(List<Expr> Items) : Expr;
internal sealed record DictExpr(List<(Expr Key, Expr Value)> Items) : Expr;
internal sealed record AttrExpr(Expr Target, string Name) : Expr;
internal sealed record ItemExpr(Expr Target, Expr Index) : Expr;
internal sealed record SliceExpr(Expr? Start, Expr? Stop, Expr? Step) : Expr;
internal sealed record CallArgs(List<Expr> Positional, List<(string Name, Expr Value)> Named, Expr? StarArgs, Expr? KwArgs);
internal sealed record CallExpr(Expr Target, CallArgs Args) : Expr;
internal sealed record FilterExpr(Expr? Target, string Name, CallArgs Args) : Expr;
internal sealed record TestExpr(Expr Target, string Name, CallArgs Args, bool Negated) : Expr;
internal sealed record UnaryExpr(string Op, Expr Operand) : Expr;
internal sealed record BinaryExpr(string Op, Expr Left, Expr Right) : Expr;
internal sealed record CompareExpr(Expr First, List<(string Op, Expr Right)> Rest) : Expr;
internal sealed record CondExpr(Expr Test, Expr IfTrue, Expr? IfFalse) : Expr;

// ---- statements ----
internal abstract record Stmt : Node;
internal sealed record TextStmt(string Text) : Stmt;
internal sealed record OutputStmt(Expr Value) : Stmt;
internal sealed record IfStmt(List<(Expr Test, List<Stmt> Body)> Branches, List<Stmt>? Else) : Stmt;
internal sealed record ForStmt(Expr Target, Expr Iter, Expr? Filter, List<Stmt> Body, List<Stmt>? Else, bool Recursive) : Stmt;
internal sealed record SetStmt(Expr Target, Expr Value) : Stmt;
internal sealed record SetBlockStmt(Expr Target, List<FilterExpr> Filters, List<Stmt> Body) : Stmt;
internal sealed record MacroParam(string Name, Expr? Default);
internal sealed record MacroStmt(string Name, List<MacroParam> Params, List<Stmt> Body) : Stmt;
internal sealed record CallBlockStmt(CallExpr Call, List<MacroParam> Params, List<Stmt> Body) : Stmt;
internal sealed record FilterBlockStmt(List<FilterExpr> Filters, List<Stmt> Body) : Stmt;
internal sealed record WithStmt(List<(Expr Target, Expr Value)> Assignments, List<Stmt> Body) : Stmt;
internal sealed record ScopeStmt(List<Stmt> Body) : Stmt;
internal sealed record BreakStmt : Stmt;
internal sealed record ContinueStmt : Stmt;

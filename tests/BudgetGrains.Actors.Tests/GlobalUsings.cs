global using Xunit;
global using BudgetGrains.TestSupport;

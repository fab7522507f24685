// Style sheets the live page imports: Bun bundles them; to the type checker they are modules with nothing in them.
declare module "*.css";

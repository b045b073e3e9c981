// Text imports resolved by build.mjs (CSS is minified at build time and inlined as a string).
declare module '*.css' {
  const text: string;
  export default text;
}

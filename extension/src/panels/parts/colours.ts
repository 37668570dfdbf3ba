/** The decision's colours, the same beside the score and in the image list. */
export const ABOVE_COLOUR = '#f87171';
export const BELOW_COLOUR = '#4ade80';
